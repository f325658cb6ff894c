// Placeholder: the login page's script (see front/console/mod.rs for the API).
