// The test run's databases are made and dropped as the stack launcher does it (dev/infra/databases.ts).
export { databaseExists, dropDatabase, uniqueDatabaseUrl } from '../../dev/infra/databases';
