-- A session that profiles one table (dsa quality): its statement timeout (the table's deadline,
-- quality.timeout_s, in milliseconds), work_mem (quality.postgres_work_mem_mb), and no JIT: the
-- profile statement has hundreds of small expressions over few grouped rows, and its row
-- estimates on a big table trigger JIT, which then spends seconds compiling them.
SELECT set_config('statement_timeout', %(timeout_ms)s, false),
       set_config('work_mem', %(work_mem)s, false),
       (SELECT set_config('jit', 'off', false) FROM pg_settings WHERE name = 'jit')
