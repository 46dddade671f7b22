from workflow_lint.cli import entrypoint

entrypoint()
