"""FlashSale domain code: catalog, transactional orders, notifications."""
