-- An estate an owner named because it was not in the list: a row like any other, so the firm's
-- estate_id stays a real estate, but verified = 0 until an admin adds it (verified = 1) or
-- merges it into a listed estate of the province: its firms move there and the row stays,
-- inactive, with merged_into naming that estate (scores of past rounds keep its id, and an
-- owner who types the same name later is put in the listed estate).  requested_by is the
-- owner who named it (NULL once they delete their data).  Unverified estates are not offered
-- to other owners.
ALTER TABLE estates ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
ALTER TABLE estates ADD COLUMN requested_by INTEGER;
ALTER TABLE estates ADD COLUMN requested_at TEXT;
ALTER TABLE estates ADD COLUMN merged_into INTEGER REFERENCES estates(id);
CREATE INDEX estates_unverified ON estates(requested_at) WHERE verified = 0;

-- A firm with no legal-entity national ID (a sole proprietorship) is identified by its owner's
-- 10-digit national code, kept in national_id (never 11 digits, so never equal to a legal ID),
-- together with its business licence number: licence_no is NULL for legal entities, and no
-- two firms have the same one.
ALTER TABLE firms ADD COLUMN licence_no TEXT;
CREATE UNIQUE INDEX firms_licence ON firms(licence_no) WHERE licence_no IS NOT NULL;
