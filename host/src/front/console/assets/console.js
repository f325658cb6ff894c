// Placeholder: the console's script (see front/console/mod.rs for the API).
