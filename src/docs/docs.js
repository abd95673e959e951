/* docs.js - starts Swagger UI on the contract served beside this page
 * (GET /api/openapi.json). "Try it out" calls the same origin; the
 * Authorize button takes a bearer token (the bearerAuth scheme). Nothing is
 * loaded from anywhere else: no validator badge, no remote logo. */
window.addEventListener('load', function () {
	window.ui = SwaggerUIBundle({
		url: new URL('openapi.json', window.location.href).href,
		dom_id: '#swagger-ui',
		presets: [SwaggerUIBundle.presets.apis],
		layout: 'BaseLayout',
		validatorUrl: null,
		deepLinking: true,
		displayRequestDuration: true,
		persistAuthorization: false,
		withCredentials: false,
	});
});
