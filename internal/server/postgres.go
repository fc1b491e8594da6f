package server

import (
	"context"

	"github.com/tansa-sec/tansa/internal/store/postgres"
)

func openPostgres(ctx context.Context, url string) (backend, error) {
	return postgres.Open(ctx, url)
}
