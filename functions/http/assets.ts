import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where the dashboard's files are. The defaults are the source tree and node_modules, so `kasync
 * up` serves them with no build step; a Lambda bundle ships copies and says where they are.
 */
export interface DashboardAssets {
  readonly dashboardDir: string;
  readonly uplotDir: string;
}

export function defaultDashboardAssets(): DashboardAssets {
  return {
    dashboardDir: path.resolve(__dirname, '../../dashboard'),
    uplotDir: path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js')),
  };
}

export interface Asset {
  readonly file: string;
  readonly contentType: string;
}

/** A fixed table of routes to files: no part of a request path ever reaches the file system. */
export function dashboardAssetRoutes(
  assets: DashboardAssets = defaultDashboardAssets(),
): Record<string, Asset> {
  const { dashboardDir, uplotDir } = assets;
  return {
    '/': { file: path.join(dashboardDir, 'index.html'), contentType: 'text/html; charset=utf-8' },
    '/dashboard/app.js': {
      file: path.join(dashboardDir, 'app.js'),
      contentType: 'text/javascript; charset=utf-8',
    },
    '/dashboard/style.css': {
      file: path.join(dashboardDir, 'style.css'),
      contentType: 'text/css; charset=utf-8',
    },
    '/vendor/uPlot.iife.min.js': {
      file: path.join(uplotDir, 'uPlot.iife.min.js'),
      contentType: 'text/javascript; charset=utf-8',
    },
    '/vendor/uPlot.min.css': {
      file: path.join(uplotDir, 'uPlot.min.css'),
      contentType: 'text/css; charset=utf-8',
    },
  };
}

/** Read on every request: the files are small, and an edited dashboard shows on reload. */
export function readAsset(asset: Asset): Promise<string> {
  return readFile(asset.file, 'utf8');
}
