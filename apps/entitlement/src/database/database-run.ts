/**
 * The run of the Postgres server (its start time, epoch seconds, as text whatever the
 * session's DateStyle): transaction ids and snapshots compare only within one run. A failover
 * to a replica, a restore or a restart starts another, whose ids may be below the last run's.
 */
export const DATABASE_RUN_SQL = 'extract(epoch FROM pg_postmaster_start_time())::text';
