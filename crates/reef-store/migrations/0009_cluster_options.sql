-- A cluster's provider settings (an existing VPC, role ARNs, ...), fixed at creation: a JSON
-- object of strings.
ALTER TABLE clusters ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
