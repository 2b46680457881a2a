"""Work outside requests, through the task queue: `queue` (Huey carrying job ids; the `job`
table carrying state and progress), `store` (a job's row as its worker writes it), and the
kinds of job: `imports` (an uploaded file)."""
