"""One module per deployment: read → decide → apply → artifact."""
