"""Collection: collectors (plugins) that turn sources into documents, the safe HTTP client
factory every outbound request goes through, input guards, and the batch runner."""
