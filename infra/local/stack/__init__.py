"""The app's stack as its CloudFormation / `chalice package --merge-template` file declares it:
tables, the functions' environment variables and stream mappings, made local."""
