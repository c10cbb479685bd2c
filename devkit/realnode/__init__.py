"""A real Chainlink node (the binary scripts/tools.sh builds) on a throwaway Postgres, for the bench."""
