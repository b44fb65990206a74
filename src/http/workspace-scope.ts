import { Type } from 'typebox';
import type { Workspace } from '../modules/workspaces/workspace.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace named in the path, resolved and checked against the caller once per request. */
    workspace: Workspace;
  }
}

export const WorkspaceParams = {
  ws: Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Workspace id', examples: [7196310] }),
};
