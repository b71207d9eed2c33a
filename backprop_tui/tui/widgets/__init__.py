"""One widget per file: network, tensor, gradcheck, formula and loss-line panes."""
