"""Operations: health, API documentation served from the package."""
