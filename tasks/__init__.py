"""Thin Prefect tasks: one side effect or one batch each; retries live here."""
