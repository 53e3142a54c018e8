-- Up Migration

-- The processes (worker, gateway, products, payments) connect as a login role that is a member of
-- orders_app: it reads and writes rows but cannot change the schema. Migrations run as the owner.
-- Roles belong to the whole cluster while grants belong to each database, so the role is created
-- only when missing (two databases may be migrated at once) and the grants are made here.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'orders_app') THEN
    CREATE ROLE orders_app NOLOGIN;
  END IF;
EXCEPTION
  -- Another migration created it between the check and the CREATE.
  WHEN duplicate_object OR unique_violation THEN NULL;
  WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'role orders_app does not exist and % may not create roles', current_user
      USING HINT = 'Create it once as a superuser: CREATE ROLE orders_app NOLOGIN;';
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO orders_app', current_database());
END
$$;

-- Before PostgreSQL 15 everyone may create tables in public; only the owner should.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO orders_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO orders_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO orders_app;
-- Tables and sequences later migrations create (as this same owner) get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO orders_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO orders_app;

-- The migrations' own bookkeeping is the owner's alone.
DO $$
BEGIN
  IF to_regclass('pgmigrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE pgmigrations FROM orders_app;
    IF pg_get_serial_sequence('pgmigrations', 'id') IS NOT NULL THEN
      EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM orders_app', pg_get_serial_sequence('pgmigrations', 'id'));
    END IF;
  END IF;
END
$$;

-- Down Migration
-- The role stays: other databases of the cluster may still grant it.
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM orders_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM orders_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM orders_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM orders_app;
REVOKE USAGE ON SCHEMA public FROM orders_app;
DO $$
BEGIN
  EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM orders_app', current_database());
END
$$;
