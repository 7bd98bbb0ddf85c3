"""Lead recycling: leads sales cannot work go back to marketing with a reason."""
