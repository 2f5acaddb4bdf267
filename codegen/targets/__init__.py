"""One module per output language: its spellings, operators and literals. The model is language-neutral."""
