import path from 'node:path';
import { handle } from 'hono/aws-lambda';
import { createClients, resourcesFromEnv } from '../engine/aws';
import { createStores } from '../engine/store';
import { createApp } from './http/app';

/**
 * The API Lambda behind an API Gateway HTTP API (payload v2): the same Hono app `kasync up`
 * serves. The bundle ships the dashboard's files beside the handler, in `dashboard/` and `uplot/`.
 */

const clients = createClients();
const resources = resourcesFromEnv();

export const handler = handle(
  createApp(
    { clients, resources, stores: createStores(clients, resources) },
    { dashboardDir: path.join(__dirname, 'dashboard'), uplotDir: path.join(__dirname, 'uplot') },
  ),
);
