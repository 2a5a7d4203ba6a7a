INSERT INTO staging.publication_journal (staged, final) VALUES ($staged, $final)
