"""The small checkout app several end-to-end tests commit and edit."""

APP = """\
from dbos import DBOS


@DBOS.step()
def reserve(order: str) -> bool:
    return True


@DBOS.step()
def audit(order: str) -> None:
    pass


@DBOS.step()
def charge(order: str) -> str:
    return f"ch-{order}"


@DBOS.workflow()
def checkout(order: str) -> str:
    reserve(order)
    charged = charge(order)
    return charged
"""
