"""Dvorik: loyalty and communication system of the "Мармеладный Дворик" sweets shop."""
