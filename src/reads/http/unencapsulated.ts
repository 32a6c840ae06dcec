import type { FastifyPluginAsync, FastifyPluginOptions } from 'fastify';

/**
 * Marks a plugin as applying to the whole app, as the `fastify-plugin` package does (without the
 * dependency): Fastify runs a registered plugin in its own context, so its hooks, decorators and
 * handlers would otherwise reach only the routes it declares itself. The guard, the error
 * handlers and the OpenAPI route collector must see every route.
 */
export function unencapsulated<O extends FastifyPluginOptions>(plugin: FastifyPluginAsync<O>): FastifyPluginAsync<O> {
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}
