"""Chest X-ray AI reading: uploads and STOW-RS, the reader, listing, reports and delivery to PACS and centers."""
