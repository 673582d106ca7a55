"""Every surface a person touches: the CLI, the agent console, the HTTP API and the chat widget."""
