"""What the assistant knows: typed records, the vector store, the embedder and the sample corpus."""
