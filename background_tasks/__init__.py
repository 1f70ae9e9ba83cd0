"""Generic background-task machinery: model, lifecycle, dispatch, registry, API and admin."""
