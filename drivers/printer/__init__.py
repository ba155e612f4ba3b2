"""Ticket printers: ESC/POS byte builder, status parsing, the ESC/POS and CUPS drivers, the simulator."""
