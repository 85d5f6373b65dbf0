"""The warehouse: the embedded PostgreSQL server, connections and the landing-zone DDL."""
