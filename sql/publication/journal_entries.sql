SELECT
    staged,
    final
FROM staging.publication_journal
ORDER BY final
