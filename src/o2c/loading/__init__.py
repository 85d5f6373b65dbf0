"""Landing: batches, watermarks and COPY into the raw schemas."""
