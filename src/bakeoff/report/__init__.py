"""Reports: the guide's view model (``report.model``: every number, from the store alone) and,
on the floor above it, the document the guide is made of (``report.sections`` as
``report.blocks``) and its renderers (``report.markdown``, ``report.html``, ``report.json_out``).
The view model imports no renderer."""
