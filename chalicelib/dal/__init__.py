"""The only code that talks to DynamoDB (through PynamoDB) or to @connections."""
