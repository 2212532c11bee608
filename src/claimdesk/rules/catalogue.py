"""Reasons and solutions, in the guide's order, with the text clients show for them."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReasonInfo:
    label: str
    explanation: str
    files_required: bool


@dataclass(frozen=True, slots=True)
class SolutionInfo:
    label: str
    explanation: str


class Reason(enum.StrEnum):
    """Why a reseller complains. Fixed values from the guide."""

    DAMAGED = "damaged"
    COMMODITY_ITEM_MISSING = "commodity-item-missing"
    CUTTING_MILLING_INADEQUATE = "cutting-milling-inadequate"
    COLOR = "color"
    DIMENSIONS = "dimensions"
    OTHER = "other"
    PACKING_SLIP_MISSING = "packing-slip-missing"
    PRINT_QUALITY = "print-quality"
    DELAYED = "delayed"
    WRONG_QUANTITY = "wrong-quantity"
    WRONG_PRODUCT = "wrong-product"
    MISSING = "missing"
    DIRTY = "dirty"
    NOT_RECEIVED = "not-received"

    @property
    def info(self) -> ReasonInfo:
        return REASONS[self]

    @property
    def needs_files(self) -> bool:
        """The guide marks these reasons "Files required": every product line needs evidence."""
        return REASONS[self].files_required


class Solution(enum.StrEnum):
    """What the reseller would like done."""

    REWORK = "rework"
    CREDIT = "credit"
    OTHER = "other"

    @property
    def info(self) -> SolutionInfo:
        return SOLUTIONS[self]


REASONS: dict[Reason, ReasonInfo] = {
    Reason.DAMAGED: ReasonInfo("Damaged", "Items arrived damaged, torn, dented or broken.", True),
    Reason.COMMODITY_ITEM_MISSING: ReasonInfo(
        "Commodity item missing", "An accessory or commodity item (eyelets, poles, bags) is missing.", False
    ),
    Reason.CUTTING_MILLING_INADEQUATE: ReasonInfo(
        "Cutting/milling inadequate", "Items were cut or milled wrongly, off the cut lines or unevenly.", True
    ),
    Reason.COLOR: ReasonInfo("Color", "Colors differ noticeably from the supplied file or proof.", True),
    Reason.DIMENSIONS: ReasonInfo("Dimensions", "Items do not have the ordered size.", True),
    Reason.OTHER: ReasonInfo("Other", "Something else is wrong; describe it and add photos.", True),
    Reason.PACKING_SLIP_MISSING: ReasonInfo(
        "Packing slip missing", "The shipment came without its packing slip.", False
    ),
    Reason.PRINT_QUALITY: ReasonInfo(
        "Print quality", "Printing is blurred, streaked, misregistered or otherwise poor.", True
    ),
    Reason.DELAYED: ReasonInfo("Delayed", "The order arrived later than promised.", False),
    Reason.WRONG_QUANTITY: ReasonInfo("Wrong quantity", "Fewer or more items arrived than were ordered.", False),
    Reason.WRONG_PRODUCT: ReasonInfo("Wrong product", "A different product arrived than was ordered.", False),
    Reason.MISSING: ReasonInfo("Missing", "Items of the order are missing from the shipment.", False),
    Reason.DIRTY: ReasonInfo("Dirty", "Items arrived dirty or stained.", True),
    Reason.NOT_RECEIVED: ReasonInfo("Not received", "The order was never delivered.", False),
}

SOLUTIONS: dict[Solution, SolutionInfo] = {
    Solution.REWORK: SolutionInfo("Rework", "If the complaint is valid, we will reproduce the order(line)/ file."),
    Solution.CREDIT: SolutionInfo("Credit", "If the complaint is valid, we will reimburse the order(line)/ file."),
    Solution.OTHER: SolutionInfo("Other", "If the complaint is valid, we will contact you."),
}
