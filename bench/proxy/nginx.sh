# nginx_conf DIR WORKERS LISTEN BLUE GREEN CONNS writes DIR/nginx.conf: nginx
# as the peer both bench/proxy scripts measure, splitting 90/10 between the
# BLUE and GREEN backends (host:port) over kept-alive upstream connections,
# with WORKERS worker processes ("auto" or a count) of CONNS connections
# each, listening on LISTEN, and everything it writes kept in DIR.
nginx_conf() {
	local dir=$1 workers=$2 listen=$3 blue=$4 green=$5 conns=$6
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<NGINX
worker_processes $workers;
worker_rlimit_nofile $((conns * 2 + 100));
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections $conns; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream app {
    server $blue weight=9;
    server $green weight=1;
    keepalive 256;
  }
  server {
    listen $listen;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
}
