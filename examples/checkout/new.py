"""A checkout workflow, edited: a fraud check before charging."""

from dbos import DBOS

FRAUD_LIMIT_CENTS = 50_000


@DBOS.step()
def reserve_stock(order_id: str) -> bool:
    return True


@DBOS.step()
def screen_for_fraud(order_id: str, amount_cents: int) -> bool:
    return amount_cents < FRAUD_LIMIT_CENTS


@DBOS.step()
def charge_card(order_id: str, amount_cents: int) -> str:
    return f"ch-{order_id}"


@DBOS.step()
def ship_order(order_id: str) -> str:
    return f"shp-{order_id}"


@DBOS.workflow()
def checkout(order_id: str, amount_cents: int) -> dict:
    reserved = reserve_stock(order_id)
    if not reserved:
        return {"order_id": order_id, "status": "out-of-stock"}
    screen_for_fraud(order_id, amount_cents)
    charge = charge_card(order_id, amount_cents)
    DBOS.set_event("status", "charged")
    shipment = ship_order(order_id)
    return {"order_id": order_id, "charge": charge, "shipment": shipment}
