"""The second client's checks, one job to a module; second_client.py runs them."""
