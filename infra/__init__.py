"""Where the app runs: real AWS and its local stand-in (never shipped to Lambda)."""
