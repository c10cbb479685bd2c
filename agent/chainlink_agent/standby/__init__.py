"""Which of the node's two pods is active, and rollouts that hand the node over once."""
