package respond

// DecodeConfig reads the `respond:` section of the gateway's configuration,
// which the configuration keeps as raw YAML so it does not depend on this
// package: decode fills a Config (refusing unknown fields), relative file
// paths are resolved against dir (the folder of the configuration file),
// and an enabled configuration gets its defaults and is validated. An
// absent section is a disabled responder.
func DecodeConfig(decode func(any) error, dir string) (Config, error) {
	var c Config
	if err := decode(&c); err != nil {
		return Config{}, err
	}
	if dir != "" {
		c.ResolvePaths(dir)
	}
	if c.Enabled {
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}
