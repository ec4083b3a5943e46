-- A firm on an estate's list may be a sole proprietorship: its national_id is then the owner's
-- 10-digit national code and licence_no its business licence number (as in firms.licence_no).
ALTER TABLE firm_invitations ADD COLUMN licence_no TEXT;
