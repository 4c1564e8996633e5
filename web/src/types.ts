// Shapes of the API's answers, as documented in docs/api.md and the OpenAPI
// document at /api/openapi.json.

export interface Link {
  label: string;
  url: string;
}

export interface Site {
  owner: {
    name: string;
    headline?: string | null;
    summary?: string | null;
    links?: Link[];
  };
  projects: {
    name: string;
    summary?: string | null;
    tags?: string[];
    links?: Link[];
  }[];
}

export interface Account {
  id: string;
  email: string;
  name?: string | null;
  roles: string[];
  created_at: string;
  /** A disabled account cannot sign in (an admin enables it again). */
  disabled: boolean;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  user: Account;
}

export interface Movie {
  id: number;
  title: string;
  release_date?: string | null;
  release_year?: number | null;
  major_genre?: string | null;
  creative_type?: string | null;
  source?: string | null;
  director?: string | null;
  distributor?: string | null;
  mpaa_rating?: string | null;
  running_time_min?: number | null;
  imdb_rating?: number | null;
  imdb_votes?: number | null;
  rotten_tomatoes_rating?: number | null;
  production_budget?: number | null;
  us_gross?: number | null;
  worldwide_gross?: number | null;
  us_dvd_sales?: number | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
  /** How many items match, on every page together. */
  total: number;
}

export interface GenreStats {
  genre: string | null;
  movies: number;
  mean_imdb_rating?: number | null;
  mean_rotten_tomatoes_rating?: number | null;
}

export interface YearStats {
  year: number | null;
  movies: number;
  mean_imdb_rating?: number | null;
  mean_rotten_tomatoes_rating?: number | null;
}

export interface MovieStats {
  total: number;
  mean_imdb_rating?: number | null;
  mean_rotten_tomatoes_rating?: number | null;
  by_genre: GenreStats[];
  by_year: YearStats[];
}

export type ParamType = "string" | "integer" | "float" | "boolean";

export interface ParamSpec {
  name: string;
  type: ParamType;
  default: unknown;
  description: string | null;
}

export interface TaskSpec {
  id: string;
  operator: string;
  config: Record<string, unknown>;
  depends_on: string[];
  trigger_rule: string;
  retries: number;
  retry_delay: number;
  timeout: number;
}

export interface PipelineSpec {
  name: string;
  description: string | null;
  params: ParamSpec[];
  schedule: string | null;
  max_active_runs: number;
  tasks: TaskSpec[];
  source: string;
}

export interface TaskView {
  task_id: string;
  state: string;
  try_number: number;
  max_tries: number;
  job_id: string | null;
  error: string | null;
  output: unknown;
  queued_at: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface RunView {
  id: string;
  pipeline: string;
  state: string;
  params: Record<string, unknown>;
  triggered_by: string;
  logical_date: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  tasks?: TaskView[];
}

export interface LogRow {
  task_id: string;
  try_number: number;
  seq: number;
  at: number;
  level: string;
  message: string;
}

export type JobState = "pending" | "retrying" | "running" | "succeeded" | "dead" | "cancelled";

export const JOB_STATES: JobState[] = ["pending", "retrying", "running", "succeeded", "dead", "cancelled"];

export interface JobView {
  id: string;
  queue: string;
  name: string;
  state: JobState;
  priority: number;
  attempt: number;
  max_attempts: number;
  timeout_ms: number;
  run_at: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  worker: string | null;
  lease_expires_at: string | null;
  cancel_requested: boolean;
  unique_key: string | null;
  last_error: string | null;
  payload: unknown;
}

export interface JobPage {
  jobs: JobView[];
  next?: string | null;
  /** How many jobs match the filters, on every page together. */
  total: number;
}

export interface SessionView {
  id: string;
  method: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  current: boolean;
}
