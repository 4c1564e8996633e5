// The API's bodies by name: aliases of the schemas of the OpenAPI document
// (/api/openapi.json), generated into api-types.ts by openapi-typescript. Do not
// describe an API body by hand here; regenerate api-types.ts instead (see
// web/README.md).

import type { components } from "./api-types";

type Schemas = components["schemas"];

export type Link = Schemas["Link"];
export type Site = Schemas["Site"];
export type Account = Schemas["Account"];
export type TokenResponse = Schemas["TokenResponse"];
export type Movie = Schemas["Movie"];
export type MoviePage = Schemas["MoviePage"];
export type MovieStats = Schemas["MovieStats"];
export type ParamSpec = Schemas["ParamSpec"];
export type TaskSpec = Schemas["TaskSpec"];
export type PipelineSpec = Schemas["PipelineSpec"];
export type PipelineList = Schemas["Page_PipelineSpec"];
export type TaskView = Schemas["TaskView"];
export type RunView = Schemas["RunView"];
export type RunList = Schemas["Page_RunView"];
export type LogRow = Schemas["LogRow"];
export type LogPage = Schemas["Page_LogRow"];
export type JobState = Schemas["JobState"];
export type JobView = Schemas["JobView"];
export type JobList = Schemas["JobList"];
export type SessionView = Schemas["SessionView"];
export type SessionList = Schemas["SessionList"];
export type Revoked = Schemas["Revoked"];

/** Every job state, in lifecycle order (the filter's choices). */
export const JOB_STATES: JobState[] = ["pending", "retrying", "running", "succeeded", "dead", "cancelled"];
