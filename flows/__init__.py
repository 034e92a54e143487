"""One module per process; flows only orchestrate: call tasks, branch on domain results, wait."""

from travelops.cardsafety import install_card_mask

install_card_mask()
