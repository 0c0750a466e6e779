"""Groups of ``rag`` subcommands, one module each; ``rag/cli.py`` mounts them."""
