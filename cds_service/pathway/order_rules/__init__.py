"""The order checks of order-select and order-sign, one module per family (pathway/orders.py)."""
