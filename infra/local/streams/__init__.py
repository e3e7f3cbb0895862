"""DynamoDB Streams event source mappings: stream records -> Lambda events, batched,
retried and checkpointed as Lambda's pollers do."""
