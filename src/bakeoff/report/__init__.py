"""Reports: the view model and its renderers (Markdown, HTML)."""
